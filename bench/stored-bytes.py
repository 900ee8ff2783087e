"""What a run's turns stored in a Sessions SQLite file, per turn: the turn record, one row holding its events (a JSON
array), its input and outcome, its checkpoint (a snapshot or the changes), the calls it made outside, and its keys.
    python3 bench/stored-bytes.py <sessions.db> <run_id>
Prints one JSON line. Logical bytes (the stored text and numbers), not pages: the file also holds indexes and free
space. `overhead_ratio` is everything a turn stores over its events' JSON and its input and outcome."""
import json, sqlite3, sys

db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
run_id = sys.argv[2]
turns = db.execute(
    """SELECT turn_number, length(CAST(events AS BLOB)), length(CAST(input AS BLOB)) + length(CAST(output AS BLOB)),
              length(CAST(state AS BLOB)), length(CAST(changes AS BLOB)), length(CAST(calls AS BLOB)),
              length(run_id) + length(started_at) + length(completed_at) + 8 * 3
       FROM run_turns WHERE run_id = ? ORDER BY turn_number""",
    (run_id,)).fetchall()
later = [t for t in turns if t[0] > 1]
n = len(later)
total = lambda i: sum(t[i] or 0 for t in later)
events, input_output, snapshots, changes, calls, keys = (total(i) for i in range(1, 7))
stored = events + input_output + snapshots + changes + calls + keys
print(json.dumps({
    "turns": n,
    "stored_bytes_per_turn": round(stored / n, 1),
    "event_bytes_per_turn": round(events / n, 1),
    "input_output_bytes_per_turn": round(input_output / n, 1),
    "changed_bytes_per_turn": round(changes / n, 1),
    "snapshot_bytes_per_turn": round(snapshots / n, 1),
    "call_bytes_per_turn": round(calls / n, 1),
    "key_bytes_per_turn": round(keys / n, 1),
    "overhead_ratio": round(stored / (events + input_output), 3),
    "snapshots": sum(1 for t in later if t[3]),
    "run_document_bytes": db.execute("SELECT length(doc) FROM runs WHERE id = ?", (run_id,)).fetchone()[0],
}))
