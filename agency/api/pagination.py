"""Page-number pagination with a caller-chosen page size, capped to keep pages cheap."""

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
