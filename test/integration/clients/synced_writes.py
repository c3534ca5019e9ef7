"""Writes to a synced table through apibouncer with asyncpg and psycopg 3 (binary parameters
and results, prepared statements, pipelines, transactions); prints "ok" when every answer is
what PostgreSQL itself would have given.

usage: synced_writes.py PORT TABLE
"""
import asyncio
import sys

import asyncpg
import psycopg

PORT, TABLE = int(sys.argv[1]), sys.argv[2]


async def with_asyncpg():
    conn = await asyncpg.connect(host="127.0.0.1", port=PORT, user="app", database="app")
    row = await conn.fetchrow(
        f"INSERT INTO {TABLE} (name, email, score) VALUES ($1, $2, $3) RETURNING id, score, plan",
        "asyncpg", "a@x", 41)
    assert row["id"].startswith("customers_") and row["score"] == 41 and row["plan"] == "free", row
    status = await conn.execute(f"UPDATE {TABLE} SET score = score + $1 WHERE id = $2", 1, row["id"])
    assert status == "UPDATE 1", status
    assert await conn.fetchval(f"SELECT score FROM {TABLE} WHERE id = $1", row["id"]) == 42
    insert = await conn.prepare(f"INSERT INTO {TABLE} (name) VALUES ($1) RETURNING id")
    ids = [await insert.fetchval(f"prepared{i}") for i in range(3)]
    assert len(set(ids)) == 3, ids
    try:
        await conn.execute(f"INSERT INTO {TABLE} (name, email) VALUES ('bad', 'INVALID')")
        raise AssertionError("the API's refusal did not surface")
    except asyncpg.PostgresError as error:
        assert error.sqlstate == "23514", error.sqlstate
    status = await conn.execute(f"DELETE FROM {TABLE} WHERE id = ANY($1::text[])", ids)
    assert status == "DELETE 3", status
    await conn.close()
    return row["id"]


def with_psycopg():
    with psycopg.connect(f"host=127.0.0.1 port={PORT} user=app dbname=app",
                         prepare_threshold=0) as conn:
        with conn.cursor(binary=True) as cur:
            cur.execute(f"INSERT INTO {TABLE} (name, score) VALUES (%s, %s) RETURNING id, score",
                        ("psycopg", 7))
            new_id, score = cur.fetchone()
            assert score == 7, score
        conn.rollback()  # the write escaped the transaction: still there
        count = conn.execute(f"SELECT count(*) FROM {TABLE} WHERE id = %s", (new_id,)).fetchone()
        assert count == (1,), count
        with conn.pipeline():
            conn.execute(f"INSERT INTO {TABLE} (name) VALUES (%s)", ("pipe1",))
            conn.execute(f"INSERT INTO {TABLE} (name) VALUES (%s)", ("pipe2",))
        conn.commit()
        count = conn.execute(f"SELECT count(*) FROM {TABLE} WHERE name LIKE 'pipe%%'").fetchone()
        assert count == (2,), count


kept = asyncio.run(with_asyncpg())
with_psycopg()
print("ok", kept)
