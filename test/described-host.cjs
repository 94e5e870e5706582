// A host described by what differs from a plain hybrid Debian machine with every capability (HostFacts,
// lib/config/host.ts): the planner runs against it and reads nothing of the machine it runs on. Shared by
// test/plan.test.mjs and the fuzz target.
'use strict';

function describedHost(facts = {}) {
  return {
    lastCap: 40,
    hasKcore: true,
    apparmor: false,
    selinux: false,
    numaNodes: new Set([0, 1]),
    resctrl: false,
    procSysMounts: ['/proc', '/sys'],
    inUserNamespace: false,
    cgroupMounts: [
      { mountPoint: '/sys/fs/cgroup/unified', fstype: 'cgroup2', superOpts: 'rw,nsdelegate' },
      { mountPoint: '/sys/fs/cgroup/memory', fstype: 'cgroup', superOpts: 'rw,memory' },
      { mountPoint: '/sys/fs/cgroup/cpu,cpuacct', fstype: 'cgroup', superOpts: 'rw,cpu,cpuacct' },
    ],
    pathKind: () => 'directory',
    namespaceOf: (p) => `ns:${p}`,
    ownNamespace: (t) => `ns:/proc/self/ns/${t}`,
    ...facts,
  };
}

module.exports = { describedHost };
