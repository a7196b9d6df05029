/**
 * Every connection that writes the SQLite file zeroes what it deletes or overwrites. Erasure is
 * crypto-shredding: it overwrites the patient's wrapped data key, and without this SQLite leaves
 * the old bytes in the page's free space, where the master key (kept for restores) unwraps them
 * from the file or any later backup. It is a per-connection setting, so each connection sets it
 * itself: the event loop's, the ingest writer thread's and the WAL checkpointer's.
 */
export const SECURE_DELETE_PRAGMA = 'secure_delete = ON';
