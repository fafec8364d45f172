// Package repo is one leader's repository: the store, the current branch,
// the settings, and everything a person does with documents and history on
// their own — staging, commits, revisions, history walks, import and
// export, fsck and stats. The merge and remote packages build on it.
//
// # Layout
//
// A repository is a .folio folder: "format" names the repository format
// (a build refuses one it does not know), "HEAD" the current branch,
// "config.json" the settings, "db" the Badger store with every object and
// ref. Files (the small files) can be read and edited while another
// process holds the store.
//
// # Working sets
//
// What is staged on a branch is a WorkingSet object (staged index, staged
// conflicts, the commit staging began from, a pending merge) named by the
// ref workingsets/refs/heads/BRANCH. Staging replaces it by
// compare-and-swap, so two writers never lose each other's changes; a
// commit moves the branch and drops the working set in one atomic ref
// update. A working set equal to its branch's head is not stored at all.
// Each branch keeps its own: switching branches neither loses nor carries
// staged changes. If the branch moves under staged changes (a sync, a
// write through the document API), commit refuses until they are reset.
//
// # Documents
//
// Documents up to SingleBlobMax are one blob; larger ones are cut into
// content-defined chunks (about 1 MiB, by a gear rolling hash), so reads,
// writes and transfers stream, and an edit in the middle of a large
// document stores only the chunks around it.
//
// # Change feed
//
// Every branch move is numbered by the store in the move's own transaction
// (objects.ChangeFeed). Changes reads those numbers back with what each
// move changed: the keys are a diff of the two commits' index roots, done
// when the feed is read, not when the branch moves (changes.go says why).
// WaitChanges waits for the next one; the server's /v1/changes and folio
// watch are built on the two.

// # Garbage collection
//
// GC deletes the objects nothing needs: it marks from every ref
// (branches, tags, remote-tracking branches, working sets, and through
// them the conflict records and every version they keep and replace),
// from ref values retired within the grace period, and from every object
// written within it; then it deletes the other objects written before the
// cutoff (badgerstore's doc.go states the rule and why a writer shorter
// than the grace period loses nothing). The mark set is an exact open
// hash table of IDs (about 43 bytes an object). Documents are marked
// without being read; only larger ones (maybe chunked), conflict records,
// maps and commits are read. A gc killed at any moment has only deleted
// unreachable objects: fsck stays clean.
//
// # Writes and crashes
//
// Every writer stores objects before what references them and moves refs
// last (objects' closure-on-write rule), so a process killed at any moment
// leaves the repository consistent: fsck clean, each branch at its old or
// new commit. The CLI's crash test kills real processes to check it.
package repo
