"""On PostgreSQL, the inbox's notification (`pam_inbox`) announces only rows nobody holds: a row inserted already
leased was handed to a worker thread of the process that recorded it, and waking the other workers for it only made
one of them claim in vain (its notification could reach that same process's listener before the hand-off, so a
second thread woke there too). Nothing changes on SQLite (one process).

Revision ID: 0015
Revises: 0014
"""

from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    _replace_trigger("""
            IF EXISTS (SELECT 1 FROM recorded WHERE lease_until IS NULL) THEN
                PERFORM pg_notify('pam_inbox', '');
            END IF;""", referencing="REFERENCING NEW TABLE AS recorded ")


def downgrade() -> None:
    _replace_trigger("""
            PERFORM pg_notify('pam_inbox', '');""", referencing="")  # as 0013 made it: every insert


def _replace_trigger(body: str, *, referencing: str) -> None:
    """The inbox's trigger function with `body`, and its trigger; PostgreSQL only."""
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("DROP TRIGGER IF EXISTS interactions_notify ON interactions")
    op.execute(f"""
        CREATE OR REPLACE FUNCTION pam_inbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN{body}
            RETURN NULL;
        END $$
    """)
    op.execute(f"CREATE TRIGGER interactions_notify AFTER INSERT ON interactions {referencing}"
               "FOR EACH STATEMENT EXECUTE FUNCTION pam_inbox_notify()")
