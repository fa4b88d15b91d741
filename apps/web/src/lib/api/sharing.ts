/** The Share dialog's calls: members and roles, visibility, share links, the people directory (docs/api.md). */
import type { NotebookRole, Visibility } from "@databook/wire";
import { enc, type Http } from "./http.ts";
import type { DirectoryUser, Member, NotebookAccess, ShareLink, Subject } from "./types.ts";

export function sharingCalls(http: Http) {
  const nb = (id: string) => `/api/notebooks/${enc(id)}`;
  return {
    /** Members, visibility and share links (editors and owners). */
    access: (id: string) => http.json<NotebookAccess>(`${nb(id)}/access`),
    /** Gives a person or group a role, or changes it (owners). */
    setMember: (id: string, subject: Subject, role: NotebookRole) =>
      http.send<Member>("PUT", `${nb(id)}/access/members`, { subject, role }),
    removeMember: (id: string, subject: Subject) =>
      http.send<{ ok: true }>("DELETE", `${nb(id)}/access/members/${enc(subject.kind)}/${enc(subject.id)}`),
    setVisibility: (id: string, visibility: Visibility) =>
      http.send<{ visibility: Visibility }>("PATCH", `${nb(id)}/access`, { visibility }),
    /** Creates a viewer link; `url` carries its secret and is shown this once. */
    createShareLink: (id: string, label: string, expiresAtMs?: number) =>
      http.send<{ link: ShareLink; url: string }>("POST", `${nb(id)}/share-links`, {
        label,
        ...(expiresAtMs ? { expiresAtMs } : {}),
      }),
    revokeShareLink: (id: string, linkId: string) =>
      http.send<{ link: ShareLink }>("DELETE", `${nb(id)}/share-links/${enc(linkId)}`).then((r) => r.link),
    /** People to add, by name or username (at most 50, disabled accounts left out). */
    findUsers: (q: string) => http.json<{ users: DirectoryUser[] }>(`/api/users?q=${enc(q)}`).then((r) => r.users),
  };
}
