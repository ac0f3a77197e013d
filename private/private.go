// Package private tells whether a file belongs to the user credd runs as:
// the owner check credd makes, with the mode checks of its callers, before
// it trusts a file or directory (its state dir, token, config and session
// files, the shared AWS files). A file another user owns is another
// user's to change, whatever its mode says today.
package private
