"""What a run's turns stored in a Sessions SQLite file, per turn: the events' payloads, the turn record (input,
output, and its checkpoint: a snapshot or the changes), and for comparison what the turn changed.
    python3 bench/stored-bytes.py <sessions.db> <run_id>
Prints one JSON line. Logical bytes (the stored text), not pages: the file also holds indexes and free space."""
import json, sqlite3, sys

db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
run_id = sys.argv[2]
turns = db.execute(
    "SELECT turn_number, length(input) + length(output) + 8 * 4, length(state), length(changes) FROM run_turns WHERE run_id = ? ORDER BY turn_number",
    (run_id,)).fetchall()
events = dict(db.execute(
    "SELECT turn_number, SUM(length(payload) + length(type) + 8 * 3) FROM run_events WHERE run_id = ? GROUP BY turn_number",
    (run_id,)).fetchall())
later = [t for t in turns if t[0] > 1]
event_bytes = sum(events.get(t[0], 0) for t in later)
record_bytes = sum(t[1] for t in later)
snapshot_bytes = sum(t[2] or 0 for t in later)
change_bytes = sum(t[3] or 0 for t in later)
n = len(later)
print(json.dumps({
    "turns": n,
    "stored_bytes_per_turn": round((event_bytes + record_bytes + snapshot_bytes + change_bytes) / n, 1),
    "event_bytes_per_turn": round(event_bytes / n, 1),
    "turn_record_bytes_per_turn": round(record_bytes / n, 1),
    "changed_bytes_per_turn": round(change_bytes / n, 1),
    "snapshot_bytes_per_turn": round(snapshot_bytes / n, 1),
    "snapshots": sum(1 for t in later if t[2]),
    "run_document_bytes": db.execute("SELECT length(doc) FROM runs WHERE id = ?", (run_id,)).fetchone()[0],
}))
