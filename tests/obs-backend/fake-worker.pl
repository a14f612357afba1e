#!/usr/bin/perl
#
# fake-worker.pl - stand-in for bs_worker in pkgsync's OBS backend tests.
#
# It takes the jobs that the real bs_sched creates, using only the worker API of
# the real repserver/srcserver (no peeking into the jobs directory):
#   GET  /jobs/<arch>                    job names
#   GET  /jobs/<arch>/<job>?view=status  "scheduled" = nobody has taken it yet
#   GET  /jobs/<arch>/<job>              buildinfo; the jobid is the md5 of these bytes
#   POST /workerdispatched               claim the job (the repserver locks it)
#   GET  /getsources        (srcserver)  the package sources (link expanded) as cpio
#   POST /putjob?...&code=...            results + logfile + meta as cpio
# The "build" makes tiny but real packages: rpmbuild for a .spec, dpkg-deb for a
# .dsc (one .deb per Package-List entry, plus the .dsc/.tar.gz/.changes a real
# Debian build leaves in the build area).
#
# usage: perl -I<code> -I<code>/build fake-worker.pl WORKDIR ARCH
#   <code> is the overlay directory start.sh creates (our BSConfig.pm + the OBS modules)
#
use strict;
use warnings;
use Digest::MD5 ();
use File::Path qw(make_path remove_tree);
use POSIX ();

use BSConfiguration;
use BSRPC;
use BSHTTP;
use BSUtil;
use BSXML;
use XML::Structured ':bytes';

my ($workdir, $arch) = @ARGV;
die("usage: $0 WORKDIR ARCH\n") unless $arch;
my $repserver = $BSConfig::reposerver;
my $srcserver = $BSConfig::srcserver;
my $workerid = "fakeworker:$arch";
# OBS arch -> Debian arch (obs-build's Build::Deb::basearch, for the arches we use)
my %debarch = ('x86_64' => 'amd64', 'aarch64' => 'arm64', 'i586' => 'i386', 'armv7l' => 'armhf', 'ppc64le' => 'ppc64el');

$| = 1;
sub say_ts { print POSIX::strftime('%H:%M:%S ', localtime), @_, "\n"; }

# run a command, append it and its output to the build log, die if it fails
sub run {
  my ($log, @cmd) = @_;
  $$log .= "+ @cmd\n";
  my $pid = open(my $fh, '-|') // die("fork: $!\n");
  if (!$pid) {
    open(STDERR, '>&', \*STDOUT);
    exec(@cmd) or die("exec $cmd[0]: $!\n");
  }
  local $/;
  $$log .= <$fh> // '';
  close($fh);
  die("$cmd[0] failed (exit ".($? >> 8).")\n") if $?;
}

sub flavor_of { my ($info) = @_; return $info->{'package'} =~ /:([^:]+)$/ ? $1 : ''; }

sub build_spec {
  my ($info, $src, $out, $log) = @_;
  my $spec = readstr("$src/$info->{'file'}");
  # what the OBS build script does before calling rpmbuild
  my $flavor = flavor_of($info);
  $spec =~ s/\@BUILD_FLAVOR\@/$flavor/g;
  $spec =~ s/^(Release:\s*).*$/$1$info->{'release'}/mi if defined $info->{'release'};
  my $top = "$out/.rpmbuild";
  make_path("$top/SOURCES");
  for my $f (ls($src)) {
    run($log, 'cp', "$src/$f", "$top/SOURCES/$f") unless $f eq $info->{'file'};
  }
  writestr("$top/$info->{'file'}", undef, $spec);
  # gzip payloads: tiny files either way, and every rpm reader handles gzip
  run($log, 'rpmbuild', '-ba', '--target', $arch,
    '--define', "_topdir $top",
    '--define', '_binary_payload w9.gzdio', '--define', '_source_payload w9.gzdio',
    '--define', '_buildhost obs-fake-worker',
    '--define', "disturl $info->{'disturl'}",
    '--define', "vendor obs://$BSConfig::obsname/$info->{'project'}",
    '--define', "distribution $info->{'project'} / $info->{'repository'}",
    "$top/$info->{'file'}");
  my @files;
  for my $d ("$top/RPMS/$arch", "$top/RPMS/noarch", "$top/SRPMS") {
    for my $f (sort(ls($d))) {
      rename("$d/$f", "$out/$f") || die("rename $d/$f: $!\n");
      push @files, $f;
    }
  }
  remove_tree($top);
  writestr("$out/rpmlint.log", undef, "rpmlint was not run (fake worker)\n");
  return (@files, 'rpmlint.log');
}

# first paragraph of a Debian control file: lower-cased field => value
sub parse_control {
  my ($text) = @_;
  my (%f, $last);
  for (split(/\n/, $text)) {
    last if /^$/;
    if (/^([A-Za-z0-9-]+):\s*(.*?)\s*$/) { $last = lc($1); $f{$last} = $2; }
    elsif (/^\s+(.*?)\s*$/ && $last) { $f{$last} .= "\n$1"; }
  }
  return \%f;
}

sub build_dsc {
  my ($info, $src, $out, $log) = @_;
  my $dsctext = readstr("$src/$info->{'file'}");
  my $dsc = parse_control($dsctext);
  my $source = $dsc->{'source'} or die("$info->{'file'}: no Source field\n");
  # like dpkg-source -x: every file of the dsc must be there, with its md5 and size
  my @srcfiles;
  for (split(/\n/, $dsc->{'files'} || '')) {
    next unless /^\s*([0-9a-f]{32})\s+(\d+)\s+(\S+)$/;
    my ($md5, $size, $name) = ($1, $2, $3);
    die("dpkg-source: error: cannot read $src/$name: No such file or directory\n") unless -e "$src/$name";
    my $got = Digest::MD5->new->addfile(do { open(my $fh, '<', "$src/$name") or die; $fh })->hexdigest;
    die("dpkg-source: error: file $name has md5sum $got instead of expected $md5\n") if $got ne $md5 || -s "$src/$name" != $size;
    push @srcfiles, [$name, $md5, $size];
  }
  $$log .= "dpkg-source: info: extracting $source (all ".scalar(@srcfiles)." files verified)\n";

  # debtransform: the version gets the OBS release as Debian revision
  (my $upstream = $dsc->{'version'} || '0') =~ s/-[^-]*$//;
  my $dver = "$upstream-".($info->{'release'} // '0');
  my $darch = $debarch{$arch} || $arch;
  my $flavor = flavor_of($info);

  # binaries: Package-List ("name type section priority arch=...") or else Binary
  my @bins;
  if ($dsc->{'package-list'}) {
    for (split(/\n/, $dsc->{'package-list'})) {
      my ($name, $type, $section, $prio, @opts) = split(' ');
      next unless $name;
      my ($a) = map {/^arch=(.*)$/ ? $1 : ()} @opts;
      push @bins, [$name, $section, $prio, $a || 'any'];
    }
  } else {
    push @bins, map {[$_, 'misc', 'optional', 'any']} split(/\s*,\s*/, $dsc->{'binary'} || $source);
  }
  my (@files, @changes);
  for my $b (@bins) {
    my ($name, $section, $prio, $a) = @$b;
    my $debarch = $a eq 'all' ? 'all' : $darch;
    $name .= "-$flavor" if $flavor;
    my $root = "$out/.deb-$name";
    make_path("$root/DEBIAN", "$root/usr/share/doc/$name");
    writestr("$root/usr/share/doc/$name/README", undef, "$name $dver\n$info->{'disturl'}\n");
    writestr("$root/DEBIAN/control", undef, join('',
      "Package: $name\n", "Source: $source\n", "Version: $dver\n", "Architecture: $debarch\n",
      "Maintainer: ".($dsc->{'maintainer'} || 'pkgsync tests <pkgsync-tests@example.invalid>')."\n",
      "Section: $section\n", "Priority: $prio\n",
      "Description: $name (pkgsync test package)\n Built by the OBS fake worker from $info->{'disturl'}\n"));
    my $fn = "${name}_${dver}_$debarch.deb";
    run($log, 'dpkg-deb', '--root-owner-group', '-Zgzip', '--build', $root, "$out/$fn");
    remove_tree($root);
    push @files, $fn;
    push @changes, [$fn, $section, $prio];
  }

  # the source package as the build area of a real deb build has it
  my @newsrc;
  for my $sf (@srcfiles) {
    my ($name, $md5, $size) = @$sf;
    # debtransform names the tarball after the source package and the new version
    my $newname = $name =~ /(\.tar(?:\.\w+)?)$/ ? "${source}_$dver$1" : $name;
    run($log, 'cp', "$src/$name", "$out/$newname");
    push @files, $newname;
    push @newsrc, " $md5 $size $newname";
  }
  my $newdsc = $dsctext;
  $newdsc =~ s/^Version:.*$/Version: $dver/m;
  $newdsc =~ s/^Files:\n(?:\s.*\n?)*/"Files:\n".join("\n", @newsrc)."\n"/me;
  writestr("$out/${source}_$dver.dsc", undef, $newdsc);
  push @files, "${source}_$dver.dsc";
  my $chfiles = join('', map {
    my ($fn, $section, $prio) = @$_;
    my $md5 = Digest::MD5->new->addfile(do { open(my $fh, '<', "$out/$fn") or die; $fh })->hexdigest;
    " $md5 ".(-s "$out/$fn")." $section $prio $fn\n";
  } @changes);
  my $changes = "${source}_${dver}_$darch.changes";
  writestr("$out/$changes", undef, join('',
    "Format: 1.8\n", "Date: ".POSIX::strftime('%a, %d %b %Y %H:%M:%S +0000', gmtime)."\n",
    "Source: $source\n", "Binary: ".join(' ', map {$_->[0] =~ s/_.*//r} @changes)."\n",
    "Architecture: $darch".(grep({$_->[0] =~ /_all\.deb$/} @changes) ? ' all' : '')."\n",
    "Version: $dver\n", "Distribution: $info->{'repository'}\n",
    "Maintainer: ".($dsc->{'maintainer'} || '')."\n", "Changes:\n $source ($dver) built by the OBS fake worker\n",
    "Files:\n", $chfiles));
  push @files, $changes;
  return @files;
}

# build one claimed job and upload the result
sub build_job {
  my ($job, $jobid, $info, $tmp) = @_;
  my ($src, $out) = ("$tmp/src", "$tmp/out");
  my $start = time();
  my $log = "[    0s] OBS fake worker $workerid: $info->{'project'}/$info->{'repository'}/$arch/$info->{'package'} ($info->{'file'}, release $info->{'release'})\n";
  my @files;
  my $code = 'succeeded';
  eval {
    BSRPC::rpc({'uri' => "$srcserver/getsources", 'directory' => $src, 'receiver' => \&BSHTTP::cpio_receiver},
      undef, "project=$info->{'project'}", "package=$info->{'package'}", "srcmd5=$info->{'srcmd5'}");
    if ($info->{'file'} =~ /\.spec$/) {
      @files = build_spec($info, $src, $out, \$log);
    } elsif ($info->{'file'} =~ /\.dsc$/) {
      @files = build_dsc($info, $src, $out, \$log);
    } else {
      die("the fake worker cannot build $info->{'file'}\n");
    }
  };
  if ($@) {
    $log .= $@;
    $code = 'failed';
    @files = ();    # a failed build uploads only logfile and meta
  }
  my $secs = time() - $start;
  $log .= sprintf("[%5ds] %s\n", $secs, $code eq 'succeeded' ? 'build succeeded' : 'build failed');
  if ($code eq 'succeeded') {
    writestr("$out/_statistics", undef, "<buildstatistics>\n  <times>\n    <total>\n      <time unit=\"s\">$secs</time>\n    </total>\n  </times>\n</buildstatistics>\n");
    writestr("$out/_buildenv", undef, "<builddeps>\n  <arch>$arch</arch>\n  <srcmd5>$info->{'srcmd5'}</srcmd5>\n</builddeps>\n");
    push @files, '_statistics', '_buildenv';
  }
  writestr("$out/logfile", undef, $log);
  # meta: "<srcmd5>  <package>", then one line per build dependency (there are none)
  writestr("$out/meta", undef, ($info->{'verifymd5'} || $info->{'srcmd5'})."  $info->{'package'}\n");
  BSRPC::rpc({
    'uri' => "$repserver/putjob",
    'request' => 'POST',
    'headers' => [ 'Content-Type: application/x-cpio' ],
    'chunked' => 1,
    'data' => \&BSHTTP::cpio_sender,
    'cpiofiles' => [ map {{'name' => $_, 'filename' => "$out/$_"}} (@files, 'meta', 'logfile') ],
  }, undef, "job=$job", "arch=$arch", "jobid=$jobid", "code=$code", "now=".time(), "workerid=$workerid");
  say_ts("$job: $code (".join(' ', grep {!/^_/} @files).")");
}

# take one job if it is still free; returns 1 if it was built
sub try_job {
  my ($job) = @_;
  my $status = BSRPC::rpc("$repserver/jobs/$arch/$job", $BSXML::jobstatus, 'view=status');
  return 0 unless $status->{'code'} eq 'scheduled';
  my $xml = BSRPC::rpc("$repserver/jobs/$arch/$job");
  my $jobid = Digest::MD5::md5_hex($xml);
  my $info = XMLin($BSXML::buildinfo, $xml);
  # port: where a real worker listens for the repserver (job kill, status); nobody
  # listens here, which matters only if someone aborts a job
  BSRPC::rpc({'uri' => "$repserver/workerdispatched", 'request' => 'POST'}, undef,
    "arch=$arch", "job=$job", "jobid=$jobid", "hostarch=$arch", "port=65535", "workerid=$workerid");
  my $tmp = "$workdir/$arch";
  remove_tree($tmp);
  make_path("$tmp/src", "$tmp/out");
  build_job($job, $jobid, $info, $tmp);
  remove_tree($tmp);
  return 1;
}

say_ts("fake worker for $arch started (repserver $repserver)");
my $idle = 0;
while (1) {
  my $built = 0;
  my $jobs = eval { BSRPC::rpc("$repserver/jobs/$arch", $BSXML::dir) };
  say_ts("listing jobs: $@") if $@;
  for my $job (map {$_->{'name'}} @{($jobs || {})->{'entry'} || []}) {
    my $ok = eval { try_job($job) };
    if ($@) {
      say_ts("$job: $@");
    } else {
      $built += $ok;
    }
  }
  # poll fast while there is work, slowly once the builds have settled
  $idle = $built ? 0 : $idle + 1;
  select(undef, undef, undef, $idle > 20 ? 2 : 0.5) unless $built;
}
