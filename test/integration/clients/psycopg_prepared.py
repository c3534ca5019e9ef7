"""psycopg 3 through apibouncer in transaction pooling, preparing every statement
(prepare_threshold=0) and pipelining. Usage: psycopg_prepared.py CONNINFO CLIENTS"""
import sys
import threading

import psycopg


def client(conninfo: str, index: int, errors: list) -> None:
    try:
        with psycopg.connect(conninfo, autocommit=True, prepare_threshold=0) as conn:
            for n in range(40):
                row = conn.execute("SELECT %s::int + %s::int", (n, index)).fetchone()
                assert row[0] == n + index, (row, n, index)
            with conn.pipeline():
                cursors = [conn.execute("SELECT %s::int * 2", (n,)) for n in range(10)]
            assert [c.fetchone()[0] for c in cursors] == [n * 2 for n in range(10)]
            # More statements than psycopg keeps: 3.1 retires the oldest with a SQL
            # DEALLOCATE of its own name for it, also inside a pipeline.
            conn.prepared_max = 2
            for n in range(3):
                for k in range(5):
                    row = conn.execute(f"SELECT %s::int + {k}", (n,)).fetchone()
                    assert row[0] == n + k, (row, n, k)
            with conn.pipeline():
                cursors = [conn.execute(f"SELECT %s::int * {k}", (2,)) for k in range(5)]
            assert [c.fetchone()[0] for c in cursors] == [2 * k for k in range(5)]
            with conn.transaction():
                conn.execute("CREATE TEMP TABLE scratch (x int) ON COMMIT DROP")
                with conn.cursor() as cur:
                    cur.executemany("INSERT INTO scratch VALUES (%s)", [(i,) for i in range(10)])
                assert conn.execute("SELECT sum(x) FROM scratch").fetchone()[0] == 45
    except Exception as error:  # reported by the main thread
        errors.append(f"client {index}: {error!r}")


def main() -> None:
    conninfo, clients = sys.argv[1], int(sys.argv[2])
    errors: list = []
    threads = [threading.Thread(target=client, args=(conninfo, i, errors)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        sys.exit("\n".join(errors))
    print("ok")


main()
