from django.urls import path

from broadsheet.library import views

urlpatterns = [path("collections/import", views.import_page, name="library-import")]
