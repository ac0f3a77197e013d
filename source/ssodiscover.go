package source

import (
	"context"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sso"
)

// Assignment is one role of one account that an Identity Center user may
// use.
type Assignment struct {
	AccountID, AccountName, Role string
}

// PortalLister is the part of the portal client Discover uses.
type PortalLister interface {
	sso.ListAccountsAPIClient
	sso.ListAccountRolesAPIClient
}

// Discover lists every account and role an Identity Center access token
// may use (ListAccounts, then ListAccountRoles of each, every page),
// sorted by account name and role.
func Discover(ctx context.Context, c PortalLister, token string) ([]Assignment, error) {
	var out []Assignment
	accounts := sso.NewListAccountsPaginator(c, &sso.ListAccountsInput{AccessToken: aws.String(token)})
	for accounts.HasMorePages() {
		page, err := accounts.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, acct := range page.AccountList {
			roles := sso.NewListAccountRolesPaginator(c, &sso.ListAccountRolesInput{AccessToken: aws.String(token), AccountId: acct.AccountId})
			for roles.HasMorePages() {
				rp, err := roles.NextPage(ctx)
				if err != nil {
					return nil, err
				}
				for _, r := range rp.RoleList {
					out = append(out, Assignment{AccountID: aws.ToString(acct.AccountId), AccountName: aws.ToString(acct.AccountName), Role: aws.ToString(r.RoleName)})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].AccountName != out[j].AccountName {
			return out[i].AccountName < out[j].AccountName
		}
		return out[i].Role < out[j].Role
	})
	return out, nil
}
