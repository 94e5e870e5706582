#!/bin/busybox sh
# PID 1 of the cgroup-v2 test guest (initramfs). Mounts the host's / read-only over 9p as the real root
# (switch_root, not chroot: user namespaces refuse a chrooted creator), a writable overlay over the checkout,
# tmpfs where programs write, cgroup2 with every controller enabled, then hands over to systemd, which runs the
# job's command as a unit; the unit writes its exit status where the host reads it (qemu's own exit status
# means nothing).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules/order); do insmod /modules/$m.ko || echo "guest: insmod $m failed"; done
arg() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
JOB=$(arg ocirun.job)
REPO=$(arg ocirun.repo)
CGROUPS=$(arg ocirun.cgroups)
N=/newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 root $N || { echo "guest: no root share"; poweroff -f; }
# The checkout's overlay is made before the tmpfs mounts, which would hide a checkout under /tmp, and moved
# into place after them.
mkdir -p /overlay /checkout
mount -t tmpfs tmpfs /overlay
mkdir -p /overlay/upper /overlay/work
mount -t overlay overlay -o lowerdir=$N$REPO,upperdir=/overlay/upper,workdir=/overlay/work /checkout
for d in tmp run var/tmp root; do mount -t tmpfs -o mode=1777 tmpfs $N/$d; done
# /etc writable through an overlay (the rootless tests add a user and its subordinate ids; the host's stays as it is).
mkdir -p /overlay/etc-upper /overlay/etc-work
mount -t overlay overlay -o lowerdir=$N/etc,upperdir=/overlay/etc-upper,workdir=/overlay/etc-work $N/etc || echo "guest: /etc stays read-only"
chmod 700 $N/root
mkdir -p $N$JOB
mountpoint -q $N$REPO || mkdir -p $N$REPO 2>/dev/null
mount --move /checkout $N$REPO || { echo "guest: cannot place the checkout at $REPO"; poweroff -f; }
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 job $N$JOB || { echo "guest: no job share"; poweroff -f; }
mount --move /dev $N/dev
mkdir -p $N/dev/pts $N/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts $N/dev/pts
mount -t tmpfs -o mode=1777 shm $N/dev/shm
mount --move /proc $N/proc
mount --move /sys $N/sys
# ocirun.cgroups=hybrid or legacy: systemd mounts its v1 layout itself (see its argv below).
if [ "$CGROUPS" != hybrid ] && [ "$CGROUPS" != legacy ]; then
  mount -t cgroup2 -o nsdelegate cgroup2 $N/sys/fs/cgroup
  # Every controller, for the subtree below the root (systemd keeps those it knows enabled: the job delegates
  # them all; it leaves the others, hugetlb and rdma among them, as they are).
  for c in $(cat $N/sys/fs/cgroup/cgroup.controllers); do echo "+$c" > $N/sys/fs/cgroup/cgroup.subtree_control; done
fi
mount -t tmpfs tmpfs $N/sys/fs/bpf 2>/dev/null || true
# systemd is PID 1 (the systemd cgroup driver's tests need a real one, with D-Bus). Its state goes to tmpfs
# (the host's / is read-only here); the job is a unit of its own, which powers the guest off when it ends.
for d in var/lib/systemd var/log; do mount -t tmpfs tmpfs $N/$d; done
U=$N/run/systemd/system
mkdir -p $U
cat > $U/ocirun-job.service <<UNIT
[Unit]
Description=ocirun guest job
Requires=dbus.socket
After=dbus.socket basic.target
SuccessAction=poweroff-force
FailureAction=poweroff-force
[Service]
Type=oneshot
Delegate=yes
TimeoutStartSec=infinity
Environment=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
LimitNOFILE=1048576
WorkingDirectory=$REPO
ExecStart=/bin/sh /run/ocirun-job.sh
UNIT
# The job leaves its unit's cgroup for the root one, where the test runner lived before systemd: a container
# whose cgroupsPath is relative goes below the runner's cgroup, and only the root may hold processes and
# children with controllers at once.
cat > $N/run/ocirun-job.sh <<SCRIPT
[ -f /sys/fs/cgroup/cgroup.procs ] && echo \$\$ > /sys/fs/cgroup/cgroup.procs
hostname ocirun-guest
/bin/sh $JOB/cmd > $JOB/output 2>&1
echo \$? > $JOB/status
sync
SCRIPT
# What a test job does not need, and what would only slow an emulated boot.
for u in systemd-random-seed.service systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer \
         man-db.timer e2scrub_all.timer fstrim.timer logrotate.timer dpkg-db-backup.timer cron.service \
         getty.target serial-getty@ttyS0.service console-getty.service systemd-firstboot.service; do
  ln -sf /dev/null $U/$u
done
# systemd takes its kernel-style options from its own argv here, not /proc/cmdline: the shared root has the
# host's /.dockerenv, so it believes it runs in a container.
[ "$CGROUPS" = hybrid ] && set -- systemd.unified_cgroup_hierarchy=0
[ "$CGROUPS" = legacy ] && set -- systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller=1
exec switch_root $N /lib/systemd/systemd --unit=ocirun-job.service "$@"
