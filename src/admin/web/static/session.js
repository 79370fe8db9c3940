// Who is signed in and which tenant the page shows; shared by the sections.
export const session = {
  /** {kind:'platform'} or {kind:'tenant', tenant} from /whoami. */
  who: null,
  /** Name of the tenant being managed. */
  tenant: null,
  /** Called after the operator changed something (the audit list then refreshes). */
  changed: () => {},
};
