from django.urls import path

from compensation.api import CouponRedeemApi

urlpatterns = [path("coupons/redeem/", CouponRedeemApi.as_view(), name="api-coupon-redeem")]
