"""The grid's counts kept on write (issue 15): `grid_tally` holds, for every node, how many
living households (and of those, with a care tag), nodes of each level and kind, nodes of each
property company and posts held by role and kind lie at or under it. Database triggers keep
it true in the writer's own transaction, whichever path writes (a form, the importer's Core
statements, a subtree move, another process), so the street overview, the node pages and the
scorecards read a handful of rows instead of counting a city's 5.47 million households (1.7 s
cold at scale 100) or keeping a minute-old copy per process.

A path is made of its ancestors' ids (8 digits each), so a row's ancestors come from the path
alone: `grid_tally_segment` holds the eight segment starts. A node's path is "!code" for a
moment while it is added (its id is not known before the insert); such a path counts nowhere.

Revision ID: 0023_grid_tally
Revises: 0022_points_balance
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0023_grid_tally'
down_revision: Union[str, None] = '0022_points_balance'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

SEGMENT, MAX_DEPTH = 8, 8


def _add(row: str, path: str, metric: str, delta: str, only_if: str) -> str:
    """One statement: `delta` to `metric` at every node on `path` (row is NEW or OLD)."""
    return (
        "INSERT INTO grid_tally (node_id, metric, n)"
        f" SELECT CAST(substr({row}.{path}, s.start, {SEGMENT}) AS INTEGER), {metric}, {delta}"
        f" FROM grid_tally_segment s WHERE s.start < length({row}.{path})"
        f" AND substr({row}.{path}, 1, 1) BETWEEN '0' AND '9' AND {only_if}"
        " ON CONFLICT (node_id, metric) DO UPDATE SET n = grid_tally.n + excluded.n;"
    )


def _household(row: str, delta: str) -> list[str]:
    return [
        _add(row, "grid_path", "'households'", delta, f"{row}.status = 'active'"),
        # With a care tag (a non-empty JSON list): the scorecards' care coverage.
        _add(row, "grid_path", "'care_households'", delta,
             f"{row}.status = 'active' AND CAST({row}.care_tags AS VARCHAR(1000)) <> '[]'"),
    ]


def _node(row: str, delta: str) -> list[str]:
    return [
        _add(row, "path", f"'node:' || {row}.level || ':' || COALESCE({row}.kind, '')", delta,
             f"{row}.retired_at IS NULL"),
        _add(row, "path", f"'company:' || CAST({row}.property_company_id AS VARCHAR(12))", delta,
             f"{row}.retired_at IS NULL AND {row}.property_company_id IS NOT NULL"),
    ]


def _post(row: str, delta: str) -> list[str]:
    return [_add(row, "node_path", f"'post:' || {row}.role || ':' || COALESCE({row}.post_kind, '')", delta,
                 f"{row}.ended_on IS NULL")]


TRIGGERS = {
    # table: (columns whose change moves a count, statements for a row)
    "household": ("grid_path, status, care_tags", _household),
    "grid_node": ("path, level, kind, retired_at, property_company_id", _node),
    "post": ("node_path, role, post_kind, ended_on", _post),
}
# The distinct people the tier table counts (leaders, staff) are not additive up a tree: they are
# counted live, from the index alone. A partial index each, over posts held now.
LEADER_A = "role = 'leader' AND post_kind = 'A' AND ended_on IS NULL"
STAFF = "role <> 'leader' AND ended_on IS NULL"

# The same statements as server/grid/tally.py REBUILD (a migration keeps its own copy).
REBUILD = [
    "DELETE FROM grid_tally",
    f"""INSERT INTO grid_tally (node_id, metric, n)
SELECT CAST(substr(g.grid_path, s.start, {SEGMENT}) AS INTEGER), m.metric, SUM(CASE WHEN m.metric = 'households' THEN g.n ELSE g.care END)
FROM (SELECT grid_path, COUNT(*) AS n, SUM(CASE WHEN CAST(care_tags AS VARCHAR(1000)) <> '[]' THEN 1 ELSE 0 END) AS care
      FROM household WHERE status = 'active' GROUP BY grid_path) g
JOIN grid_tally_segment s ON s.start < length(g.grid_path)
CROSS JOIN (SELECT 'households' AS metric UNION ALL SELECT 'care_households') m
WHERE substr(g.grid_path, 1, 1) BETWEEN '0' AND '9' AND (m.metric = 'households' OR g.care > 0)
GROUP BY CAST(substr(g.grid_path, s.start, {SEGMENT}) AS INTEGER), m.metric""",
    f"""INSERT INTO grid_tally (node_id, metric, n)
SELECT CAST(substr(g.path, s.start, {SEGMENT}) AS INTEGER), g.metric, COUNT(*)
FROM (SELECT path, 'node:' || level || ':' || COALESCE(kind, '') AS metric FROM grid_node
      WHERE retired_at IS NULL
      UNION ALL
      SELECT path, 'company:' || CAST(property_company_id AS VARCHAR(12)) FROM grid_node
      WHERE retired_at IS NULL AND property_company_id IS NOT NULL) g
JOIN grid_tally_segment s ON s.start < length(g.path)
WHERE substr(g.path, 1, 1) BETWEEN '0' AND '9'
GROUP BY CAST(substr(g.path, s.start, {SEGMENT}) AS INTEGER), g.metric""",
    f"""INSERT INTO grid_tally (node_id, metric, n)
SELECT CAST(substr(g.node_path, s.start, {SEGMENT}) AS INTEGER), g.metric, SUM(g.n)
FROM (SELECT node_path, 'post:' || role || ':' || COALESCE(post_kind, '') AS metric, COUNT(*) AS n FROM post
      WHERE ended_on IS NULL GROUP BY node_path, role, post_kind) g
JOIN grid_tally_segment s ON s.start < length(g.node_path)
WHERE substr(g.node_path, 1, 1) BETWEEN '0' AND '9'
GROUP BY CAST(substr(g.node_path, s.start, {SEGMENT}) AS INTEGER), g.metric""",
]


def upgrade() -> None:
    op.create_table(
        'grid_tally',
        sa.Column('node_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('metric', sa.String(40), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('node_id', 'metric'),
    )
    segments = op.create_table('grid_tally_segment', sa.Column('start', sa.Integer(), autoincrement=False, primary_key=True))
    op.bulk_insert(segments, [{"start": 1 + SEGMENT * i} for i in range(MAX_DEPTH)])
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, (columns, statements) in TRIGGERS.items():
        if sqlite:
            op.execute(f"CREATE TRIGGER {table}_tally_insert AFTER INSERT ON {table} BEGIN "
                       + " ".join(statements("NEW", "1")) + " END")
            op.execute(f"CREATE TRIGGER {table}_tally_update AFTER UPDATE OF {columns} ON {table} BEGIN "
                       + " ".join(statements("OLD", "-1") + statements("NEW", "1")) + " END")
            op.execute(f"CREATE TRIGGER {table}_tally_delete AFTER DELETE ON {table} BEGIN "
                       + " ".join(statements("OLD", "-1")) + " END")
        else:
            op.execute(
                f"CREATE FUNCTION {table}_tally() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                " IF TG_OP <> 'INSERT' THEN " + " ".join(statements("OLD", "-1")) + " END IF;"
                " IF TG_OP <> 'DELETE' THEN " + " ".join(statements("NEW", "1")) + " END IF;"
                " RETURN NULL; END $$"
            )
            op.execute(f"CREATE TRIGGER {table}_tally AFTER INSERT OR DELETE OR UPDATE OF {columns} ON {table}"
                       f" FOR EACH ROW EXECUTE FUNCTION {table}_tally()")
    for statement in REBUILD:
        op.execute(statement)
    op.create_index('ix_post_current_leader_a', 'post', ['node_path', 'person_id'],
                    sqlite_where=sa.text(LEADER_A), postgresql_where=sa.text(LEADER_A))
    op.create_index('ix_post_current_staff', 'post', ['node_path', 'person_id'],
                    sqlite_where=sa.text(STAFF), postgresql_where=sa.text(STAFF))


def downgrade() -> None:
    op.drop_index('ix_post_current_staff', table_name='post')
    op.drop_index('ix_post_current_leader_a', table_name='post')
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TRIGGERS:
        if sqlite:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_tally_{event}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_tally ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_tally()")
    op.drop_table('grid_tally_segment')
    op.drop_table('grid_tally')
