"""Admin for organisations, memberships and shops."""

from django.contrib import admin

from agency.organisations.models import Membership, Organisation, Shop


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


class ShopInline(admin.TabularInline):
    model = Shop
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "contact_email", "created_at")
    search_fields = ("name",)
    inlines = (MembershipInline, ShopInline)


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ("name", "platform", "platform_shop_id", "organisation")
    list_filter = ("platform",)
    search_fields = ("name", "platform_shop_id")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organisation", "created_at")
    autocomplete_fields = ("user", "organisation")
