// Files the configuration names (certificates, keys, CRLs, password and ACL files), watched so a
// change is picked up without a restart. The directory is watched, not the file: tools that
// replace a file by renaming a new one over it (warden passwd, certbot, editors) would leave a
// watch on the file itself looking at the old, unlinked copy.

import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

const DEBOUNCE_MS = 200;

/**
 * Calls `changed` once a burst of changes to any of `files`, or to anything in `directories`
 * (a CA directory), settles. Returns what cannot be watched (a missing or unreadable directory)
 * and a function that stops it.
 */
export function watchFiles(
  files: readonly string[],
  directories: readonly string[],
  changed: () => void,
): { unwatched: string[]; close: () => void } {
  const byDirectory = new Map<string, Set<string> | 'all'>();
  for (const directory of directories) byDirectory.set(resolve(directory), 'all');
  for (const path of new Set(files.map((p) => resolve(p)))) {
    const existing = byDirectory.get(dirname(path));
    if (existing === 'all') continue;
    const names = existing ?? new Set<string>();
    names.add(basename(path));
    byDirectory.set(dirname(path), names);
  }
  let pending: NodeJS.Timeout | undefined;
  const settle = () => {
    clearTimeout(pending);
    pending = setTimeout(changed, DEBOUNCE_MS);
    pending.unref();
  };
  const watchers: FSWatcher[] = [];
  const unwatched: string[] = [];
  for (const [directory, names] of byDirectory) {
    try {
      const watcher = watch(directory, { persistent: false }, (_event, name) => {
        // Some platforms give no name: treat it as a change to any of ours.
        if (names === 'all' || name === null || names.has(name.toString())) settle();
      });
      watcher.on('error', () => undefined);
      watchers.push(watcher);
    } catch {
      if (names === 'all') unwatched.push(directory);
      else for (const name of names) unwatched.push(`${directory}/${name}`);
    }
  }
  return {
    unwatched,
    close: () => {
      clearTimeout(pending);
      for (const watcher of watchers) watcher.close();
    },
  };
}
