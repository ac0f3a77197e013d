package daemon

import (
	"errors"
	"io/fs"

	"github.com/credd/credd/awsfile"
	"github.com/credd/credd/config"
)

// checkAWSFiles refuses the shared AWS files when cfg resolves profiles
// from them (aws_profile sources) and one of them is another user's to
// change, or no sane text file (awsfile.Check): credd would run as the
// user whatever credential_process they name. A missing file is none.
// At start this stops credd; at a reload it keeps the configuration in
// force, and each profile's refresh checks again before the AWS SDK reads
// the files (source.AWSProfile).
func checkAWSFiles(cfg config.Config, deps Deps) error {
	uses := false
	for _, p := range cfg.Profiles {
		uses = uses || p.Source() == config.SourceAWSProfile
	}
	if !uses {
		return nil
	}
	shared, creds := sharedPaths(deps)
	var errs []error
	for _, f := range append(shared, creds...) {
		if err := awsfile.Check(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
