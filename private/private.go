// Package private tells whether a file belongs to the user credd runs as:
// the owner check credd makes, with the mode checks of its callers, before
// it trusts a file or directory (its state dir, token, config and session
// files, the shared AWS files). A file another user owns is another
// user's to change, whatever its mode says today.
//
// It also creates what must be the user's alone (MkdirAll, CreateTemp,
// CreateIfMissing): on Unix with modes 0700 and 0600, on Windows with a
// protected DACL whose one entry admits the user, set at creation rather
// than inherited from wherever the directory is; ReadAccess reads a DACL
// back.
package private
