#!/usr/bin/perl
#
# bind-loopback.pl ADDR PORT SERVER [ARGS...]
#
# The OBS servers always bind INADDR_ANY (BSServer::serveropen), but they also
# take an already listening socket as "--restart <fd>" (the way they re-exec
# themselves). So we bind ADDR:PORT here and exec the unmodified server with it.
#
use strict;
use warnings;
use Fcntl qw(F_GETFD F_SETFD FD_CLOEXEC);
use IO::Socket::INET;

my ($addr, $port, @server) = @ARGV;
die("usage: $0 ADDR PORT SERVER [ARGS...]\n") unless @server;
my $sock = IO::Socket::INET->new(
  'LocalAddr' => $addr, 'LocalPort' => $port, 'Proto' => 'tcp', 'Listen' => 512, 'ReuseAddr' => 1,
) or die("$0: cannot listen on $addr:$port: $@\n");
# the socket has to survive the exec
my $flags = fcntl($sock, F_GETFD, 0) or die("fcntl: $!\n");
fcntl($sock, F_SETFD, $flags & ~FD_CLOEXEC) or die("fcntl: $!\n");
exec({ $server[0] } @server, '--restart', fileno($sock)) or die("$0: exec $server[0]: $!\n");
