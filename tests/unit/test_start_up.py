"""What create_app does with the objects start-up built: frozen out of full collections when GC_FREEZE is on."""
import gc

from app import create_app
from config import TestConfig


def _app(tmp_path, **settings):
    return create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'start.db'}",
                      UPLOAD_DIR=str(tmp_path / "uploads"), AUTO_DEPLOY=False, **settings)


def _collected(obj):
    """Whether the collector's generations (not the permanent one) hold `obj`."""
    return any(o is obj for o in gc.get_objects())


def test_start_up_objects_are_frozen_when_gc_freeze_is_on(tmp_path):
    gc.unfreeze()
    try:
        app = _app(tmp_path, GC_FREEZE=True)
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # modules, metadata, routes: the bulk of what a process holds
        assert not _collected(app) and not _collected(app.url_map)
        gc.collect()
        assert gc.get_freeze_count() == frozen  # full collections pass them by
        later = [[]]
        assert _collected(later)  # what requests build later is collected as ever
    finally:
        gc.unfreeze()


def test_tests_keep_the_collector_as_it_is(tmp_path):
    gc.unfreeze()
    app = _app(tmp_path)
    assert gc.get_freeze_count() == 0
    assert _collected(app)
