"""asyncpg through apibouncer in transaction pooling: its statement cache names every
statement, so this fails unless the pooler tracks protocol-level prepared statements.
Usage: asyncpg_prepared.py DSN CLIENTS   (prints "ok" on success)"""
import asyncio
import sys

import asyncpg


async def client(dsn: str, index: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for n in range(40):
            value = await conn.fetchval("SELECT $1::int + $2::int", n, index)
            assert value == n + index, (value, n, index)
            rows = await conn.fetch(
                "SELECT g, $1::text AS tag FROM generate_series(1, $2::int) AS g", f"c{index}", 3)
            assert [r["g"] for r in rows] == [1, 2, 3] and rows[0]["tag"] == f"c{index}", rows
        statement = await conn.prepare("SELECT $1::int * 3")
        for n in range(20):
            assert await statement.fetchval(n) == n * 3
        async with conn.transaction():
            await conn.execute("CREATE TEMP TABLE scratch (x int) ON COMMIT DROP")
            await conn.executemany("INSERT INTO scratch VALUES ($1)", [(i,) for i in range(10)])
            assert await conn.fetchval("SELECT sum(x) FROM scratch") == 45
    finally:
        await conn.close()


async def main() -> None:
    dsn, clients = sys.argv[1], int(sys.argv[2])
    await asyncio.gather(*(client(dsn, i) for i in range(clients)))
    print("ok")


asyncio.run(main())
