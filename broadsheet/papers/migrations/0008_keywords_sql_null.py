"""Papers stored by an ingest or a submission held a JSON null in `ai_keywords` (the import's
fast insert wrote the field's default as JSON), which `broadsheet keywords` does not look
for: it takes SQL NULL for "not computed yet". Turn those into SQL NULL."""

from django.db import migrations
from django.db.models import JSONField, Value


def json_null_to_sql_null(apps, schema_editor):
    Paper = apps.get_model("papers", "Paper")
    Paper.objects.filter(ai_keywords=Value(None, JSONField())).update(ai_keywords=None)


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0007_paper_thumbnail"),
    ]

    operations = [
        migrations.RunPython(json_null_to_sql_null, migrations.RunPython.noop, elidable=True),
    ]
