package private

import "slices"

// Access is who a file's DACL lets in (Windows: ReadAccess).
type Access struct {
	// Protected: the DACL inherits nothing from the directory.
	Protected bool
	// Allowed are the SIDs the DACL's access-allowed entries name (those
	// that apply to the file itself, not only to what is created in it),
	// in order. A file without a DACL admits everyone: "S-1-1-0".
	Allowed []string
	// Writers are those of Allowed whose entries grant a right to change
	// the file, its ACL or its owner, or to delete it.
	Writers []string
}

// trusted are the accounts a file of the user's may let change it besides
// the user: SYSTEM and Administrators, who can take any file anyway.
func trusted(sid string) bool { return sid == "S-1-5-18" || sid == "S-1-5-32-544" }

// OtherWriters are the Writers other than user (a SID), SYSTEM and
// Administrators, each once.
func (a Access) OtherWriters(user string) []string {
	var others []string
	for _, sid := range a.Writers {
		if sid != user && !trusted(sid) && !slices.Contains(others, sid) {
			others = append(others, sid)
		}
	}
	return others
}
