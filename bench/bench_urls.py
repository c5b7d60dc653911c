from django.http import HttpResponse
from django.urls import include, path

BODY = b"ok"


def constant(request):  # type: ignore[no-untyped-def]
    return HttpResponse(BODY, content_type="text/plain")


urlpatterns = [path("bench/constant", constant), path("", include("config.urls"))]
