#!/usr/bin/perl
# Verifies the DKIM signature of the message on standard input with Mail::DKIM (Debian's
# libmail-dkim-perl), taking the public key from the command line instead of DNS: the test
# domain has no DNS zone here, so the lookup of <selector>._domainkey.<domain> is answered
# with the TXT record given. Prints the result ("pass", "fail", "invalid", "none") and its
# detail; exits 0 only on pass.
#   perl tests/support/dkim-verify.pl 'v=DKIM1; k=rsa; p=MIIB...' < message.eml
use strict;
use warnings;
use Mail::DKIM::Verifier;
use Mail::DKIM::PublicKey;

my $record = shift @ARGV or die "usage: dkim-verify.pl TXT-RECORD < message\n";
{
  no warnings 'redefine';
  *Mail::DKIM::PublicKey::fetch_async = sub {
    my ($class, %prms) = @_;
    my $on_success = ($prms{Callbacks} || {})->{Success} || sub { $_[0] };
    my $key = $class->parse($record);
    $key->{Selector} = $prms{Selector};
    $key->{Domain} = $prms{Domain};
    $key->check;
    my $result = $on_success->($key);
    return sub { $result };
  };
}
my $dkim = Mail::DKIM::Verifier->new();
binmode STDIN;
while (my $line = <STDIN>) {
  $line =~ s/\r?\n\z/\015\012/;
  $dkim->PRINT($line);
}
$dkim->CLOSE;
my $detail = $dkim->result_detail;
print $dkim->result, " ", $detail, "\n";
foreach my $signature ($dkim->signatures) {
  print "signature d=", $signature->domain, " s=", $signature->selector, " result=", $signature->result_detail, "\n";
}
exit($dkim->result eq 'pass' ? 0 : 1);
