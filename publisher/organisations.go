package publisher

import (
	"context"
	"fmt"

	"github.com/candour/candour/catalogue"
)

// RenamePublisher sets the public name and address of an organisation that
// publishes here. Only an administrator may: a submission never changes
// them (it names an organisation only once, for its first dataset, and
// that name is public only with the release). The change is committed
// with an audit entry giving the name before and after, and every public
// page shows it at once.
func (s *Service) RenamePublisher(ctx context.Context, actor Actor, p catalogue.Publisher) error {
	if !actor.Has(RoleAdministrator) {
		return fmt.Errorf("%w: renaming a publisher needs the role administrator; %s has %s", ErrForbidden, actor, roleList(actor.Roles))
	}
	if err := p.Validate(); err != nil {
		return err
	}
	before, err := s.catalogue.EnsurePublisher(ctx, catalogue.Publisher{Slug: p.Slug})
	if err != nil {
		return err
	}
	details := map[string]string{"publisher": p.Slug, "nameBefore": before.Name, "name": p.Name, "urlBefore": before.URL, "url": p.URL}
	if err := s.workflow.Apply(ctx, Change{Publisher: &p, Audit: s.audit(actor, "publisher.renamed", catalogue.Release{}, details)}); err != nil {
		return err
	}
	s.notifyPublicChange()
	return nil
}
