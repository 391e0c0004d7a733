"""``ybt docs``: a static catalog and report portal (fields, reports, ledgers, overlaps, burden, lineage, findings).

See :mod:`ybt.portal.site` for how the pages are built; :mod:`ybt.portal.reference` generates ybt's own
reference documentation (spec schema, rules, command line) so that it cannot drift from the code.
"""

from __future__ import annotations

from ybt.portal.site import PortalOptions, SiteStats, build_site

__all__ = ["PortalOptions", "SiteStats", "build_site"]
