"""What a run's turns stored in a Sessions SQLite file, per turn: the turn record, one row holding its events (a JSON
array), its input and outcome, its checkpoint (a snapshot or the changes), the calls it made outside, and its keys.
    python3 bench/stored-bytes.py <sessions.db> <run_id>
Prints one JSON line. Bytes as stored (a JSON column over 1 KiB is kept deflated), not pages: the file also holds
indexes and free space. `overhead_ratio` is everything a turn stores over its events' JSON text and its input and
outcome; `*_json_bytes_per_turn` are the same columns as JSON text."""
import json, sqlite3, sys, zlib

db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
run_id = sys.argv[2]
stored = lambda v: 0 if v is None else len(v) if isinstance(v, bytes) else len(v.encode())
text = lambda v: 0 if v is None else len(zlib.decompress(v)) if isinstance(v, bytes) else len(v.encode())
rows = db.execute(
    """SELECT turn_number, events, input, output, state, changes, calls, length(run_id) + length(started_at) + length(completed_at) + 8 * 3
       FROM run_turns WHERE run_id = ? AND turn_number > 1 ORDER BY turn_number""",
    (run_id,)).fetchall()
n = len(rows)
total = lambda f, *columns: sum(f(r[c]) for r in rows for c in columns)
events, input_output, snapshots, changes, calls = (total(stored, 1), total(stored, 2, 3), total(stored, 4), total(stored, 5), total(stored, 6))
keys = sum(r[7] for r in rows)
events_json, input_output_json, snapshots_json = total(text, 1), total(text, 2, 3), total(text, 4)
all_stored = events + input_output + snapshots + changes + calls + keys
print(json.dumps({
    "turns": n,
    "stored_bytes_per_turn": round(all_stored / n, 1),
    "event_bytes_per_turn": round(events / n, 1),
    "event_json_bytes_per_turn": round(events_json / n, 1),
    "input_output_bytes_per_turn": round(input_output / n, 1),
    "input_output_json_bytes_per_turn": round(input_output_json / n, 1),
    "changed_bytes_per_turn": round(changes / n, 1),
    "snapshot_bytes_per_turn": round(snapshots / n, 1),
    "snapshot_json_bytes_per_turn": round(snapshots_json / n, 1),
    "call_bytes_per_turn": round(calls / n, 1),
    "key_bytes_per_turn": round(keys / n, 1),
    "overhead_ratio": round(all_stored / (events_json + input_output_json), 3),
    "snapshots": sum(1 for r in rows if r[4] is not None),
    "run_document_bytes": db.execute("SELECT length(doc) FROM runs WHERE id = ?", (run_id,)).fetchone()[0],
}))
