package main

import (
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Account administration through the workspace: an administrator lists,
// adds, re-roles and disables accounts and revokes any API token; everyone
// else sees only their own account, where a publisher creates and revokes
// tokens and anyone changes their password. Other roles get 404 for the
// administrator's pages.
func TestAccountAdministrationThroughHTTP(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "candour-data")
	addAccounts(t, dataDir, []account{{"ada", "administrator", ""}, {"pam", "publisher", "e2e-stats"}})
	s := startCandour(t, "serve", dataDir, "--page-cache=false")
	ada, pam := newBrowser(t, s), newBrowser(t, s)
	ada.login("ada", "correct horse battery")
	pam.login("pam", "correct horse battery")

	post := func(b *browser, path string, form url.Values) (int, string, http.Header) {
		t.Helper()
		form.Set("csrf", b.token())
		return b.post(path, form)
	}

	if status, _ := pam.get("/workspace/accounts"); status != http.StatusNotFound {
		t.Errorf("a publisher opening the accounts page: %d, want 404", status)
	}
	if status, _, _ := post(pam, "/workspace/accounts/ada/disable", url.Values{}); status != http.StatusNotFound {
		t.Errorf("a publisher disabling an administrator: %d, want 404", status)
	}
	_, page := ada.get("/workspace/accounts")
	if !strings.Contains(page, "Pam Tester (pam)") || !strings.Contains(page, "Ada Tester (ada)") {
		t.Fatal("the accounts page does not list every account")
	}

	// Adding: a short password is refused on the form, keeping what was typed.
	status, body, _ := post(ada, "/workspace/accounts/", url.Values{"username": {"rhea"}, "name": {"Rhea Reviewer"}, "role-reviewer": {"1"}, "password": {"short"}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "12 characters") || !strings.Contains(body, `value="rhea"`) {
		t.Errorf("adding with a short password: %d, want 422 naming the rule and keeping the username", status)
	}
	if status, _, _ := post(ada, "/workspace/accounts/", url.Values{"username": {"rhea"}, "name": {"Rhea Reviewer"}, "role-reviewer": {"1"},
		"password": {"correct horse battery"}}); status != http.StatusSeeOther {
		t.Fatalf("adding an account: %d", status)
	}
	rhea := newBrowser(t, s)
	rhea.login("rhea", "correct horse battery")
	if status, _, _ := post(ada, "/workspace/accounts/rhea/roles", url.Values{"role-provider-checker": {"1"}}); status != http.StatusUnprocessableEntity {
		t.Errorf("a provider checker without an organisation: %d, want 422", status)
	}
	if status, _, _ := post(ada, "/workspace/accounts/rhea/roles", url.Values{"role-provider-checker": {"1"}, "organisation": {"RA2"}}); status != http.StatusSeeOther {
		t.Errorf("changing roles: %d", status)
	}
	if _, ws := rhea.get("/workspace"); !strings.Contains(ws, "provider-checker, for RA2") {
		t.Error("a live session does not have the changed roles")
	}
	if status, _, _ := post(ada, "/workspace/accounts/ada/disable", url.Values{}); status != http.StatusUnprocessableEntity {
		t.Errorf("an administrator disabling themself: %d, want 422", status)
	}
	if status, _, _ := post(ada, "/workspace/accounts/rhea/disable", url.Values{}); status != http.StatusSeeOther {
		t.Errorf("disabling: %d", status)
	}
	if status, _ := rhea.get("/workspace"); status != http.StatusSeeOther {
		t.Errorf("a disabled account's session still opens the workspace: %d", status)
	}

	// A publisher's own tokens: created (shown once), used, revoked.
	_, page = pam.get("/workspace/account")
	status, body, _ = post(pam, "/workspace/account/tokens", url.Values{"label": {"nightly upload"}})
	secret := regexp.MustCompile(`<code>(cnd_[A-Za-z0-9_-]+)</code>`).FindStringSubmatch(body)
	if status != http.StatusOK || secret == nil {
		t.Fatalf("creating a token: %d, no token shown", status)
	}
	if status, _ := postSubmission(t, s, secret[1], `{}`, nil); status == http.StatusUnauthorized {
		t.Error("the new token is not accepted")
	}
	id := regexp.MustCompile(`action="/workspace/account/tokens/(\d+)/revoke"`).FindStringSubmatch(body)
	if id == nil {
		t.Fatal("no revoke button for the new token")
	}
	if status, _, _ := post(ada, "/workspace/account/tokens/"+id[1]+"/revoke", url.Values{}); status != http.StatusNotFound {
		t.Errorf("revoking another person's token from one's own account page: %d, want 404", status)
	}
	if status, _, _ := post(pam, "/workspace/account/tokens/"+id[1]+"/revoke", url.Values{}); status != http.StatusSeeOther {
		t.Errorf("revoking one's own token: %d", status)
	}
	if status, _ := postSubmission(t, s, secret[1], `{}`, nil); status != http.StatusUnauthorized {
		t.Errorf("a revoked token: %d, want 401", status)
	}

	// Changing one's password needs the current one.
	if status, body, _ := post(pam, "/workspace/account/password", url.Values{"current-password": {"wrong one entirely"},
		"new-password": {"a new horse battery"}, "confirm-password": {"a new horse battery"}}); status != http.StatusUnprocessableEntity || !strings.Contains(body, "current password") {
		t.Errorf("a wrong current password: %d", status)
	}
	if status, _, _ := post(pam, "/workspace/account/password", url.Values{"current-password": {"correct horse battery"},
		"new-password": {"a new horse battery"}, "confirm-password": {"a new horse battery"}}); status != http.StatusSeeOther {
		t.Errorf("changing the password: %d", status)
	}
	newBrowser(t, s).login("pam", "a new horse battery")
}
