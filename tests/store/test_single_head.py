"""One migration head: a new migration must build on the last, not fork the history."""

from alembic.script import ScriptDirectory

from store.migrate import alembic_config


def test_migrations_have_a_single_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, script.get_heads()
