"""The address policy as pure functions: nothing here opens a connection."""

import pytest

from filters.posts.addresses import AddressPolicy, address_category, parse_networks


@pytest.mark.parametrize(
    ("address", "category"),
    [
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata endpoint
        ("127.0.0.1", "loopback"),
        ("127.0.0.2", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "reserved"),  # carrier-grade NAT, not global
        ("::1", "loopback"),
        ("fc00::1", "private"),
        ("fe80::1", "link-local"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:10.0.0.1", "private"),
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("8.8.8.8", None),
        ("151.101.1.140", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_address_categories(address, category):
    assert address_category(address) == category


def test_the_allow_list_opens_only_its_networks():
    policy = AddressPolicy(parse_networks("127.0.0.2/32, 10.1.0.0/16"))
    assert policy.refusal("127.0.0.2") is None
    assert policy.refusal("::ffff:127.0.0.2") is None, "an allowed IPv4 address may come IPv6-mapped"
    assert policy.refusal("10.1.200.3") is None
    assert policy.refusal("127.0.0.1") == "loopback"
    assert policy.refusal("10.2.0.1") == "private"
    assert policy.refusal("8.8.8.8") is None
    assert AddressPolicy().refusal("127.0.0.2") == "loopback"


def test_networks_parse_from_options_and_a_bare_address_is_one_host():
    assert [str(n) for n in parse_networks(["127.0.0.1", "10.0.0.0/8,::1"])] == [
        "127.0.0.1/32", "10.0.0.0/8", "::1/128"]
    assert parse_networks(None) == ()
    with pytest.raises(ValueError):
        parse_networks("localhost")
