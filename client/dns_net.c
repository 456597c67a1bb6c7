/*
 * dns_net.c - one DNS exchange with one server: address parsing, a query
 * or an UPDATE sent over UDP (TCP when the answer is truncated), the
 * answer matched by ID and parsed.  Bounded in time (the caller's
 * timeout per transport) and in size (ldns reads at most 64 KiB).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns01.h"

/* Fills ret from a numeric address and port; -1 when addr is not one. */
static int
numeric(const char *addr, int port, struct ag_dns_addr *ret)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ret->ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ret->ss;

	memset(ret, 0, sizeof(*ret));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		ret->len = sizeof(*s4);
		return 0;
	}
	memset(ret, 0, sizeof(*ret));
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		ret->len = sizeof(*s6);
		return 0;
	}
	return -1;
}

int
ag_dns_addr_parse(const char *s, struct ag_dns_addr *ret)
{
	struct addrinfo	 hints, *res = NULL;
	char		 host[256], *colon, *end;
	const char	*h = s, *ps = NULL;
	size_t		 hl;
	long		 port = AG_DNS_DEFAULT_PORT;
	int		 rc;

	if (s == NULL || s[0] == '\0')
		return ANVIL_EINVAL;
	if (s[0] == '[') {
		/* [V6]:PORT or [V6] */
		end = strchr(s, ']');
		if (end == NULL)
			return ANVIL_EINVAL;
		h = s + 1;
		hl = (size_t)(end - h);
		if (end[1] == ':')
			ps = end + 2;
		else if (end[1] != '\0')
			return ANVIL_EINVAL;
	} else {
		colon = strrchr(s, ':');
		/* One colon: HOST:PORT; several: a bare IPv6 address. */
		if (colon != NULL && strchr(s, ':') == colon) {
			hl = (size_t)(colon - s);
			ps = colon + 1;
		} else
			hl = strlen(s);
	}
	if (hl == 0 || hl >= sizeof(host))
		return ANVIL_EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (ps != NULL) {
		port = strtol(ps, &end, 10);
		if (end == ps || *end != '\0' || port < 1 || port > 65535)
			return ANVIL_EINVAL;
	}
	if (numeric(host, (int)port, ret) == 0)
		return 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0 || res == NULL ||
	    res->ai_addrlen > sizeof(ret->ss))
		rc = ANVIL_ENOENT;
	else {
		memset(ret, 0, sizeof(*ret));
		memcpy(&ret->ss, res->ai_addr, res->ai_addrlen);
		ret->len = (socklen_t)res->ai_addrlen;
		if (ret->ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ret->ss)->sin_port =
			    htons((uint16_t)port);
		else if (ret->ss.ss_family == AF_INET6)
			((struct sockaddr_in6 *)&ret->ss)->sin6_port =
			    htons((uint16_t)port);
		else
			rc = ANVIL_ENOENT;
		if (rc != ANVIL_ENOENT)
			rc = 0;
	}
	if (res != NULL)
		freeaddrinfo(res);
	return rc;
}

void
ag_dns_addr_str(const struct ag_dns_addr *a, char *out, size_t outlen)
{
	const struct sockaddr_in6	*s6;
	const struct sockaddr_in	*s4;
	char				 buf[INET6_ADDRSTRLEN];

	s6 = (const struct sockaddr_in6 *)&a->ss;
	s4 = (const struct sockaddr_in *)&a->ss;

	if (a->ss.ss_family == AF_INET6) {
		if (inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf)) ==
		    NULL)
			(void)snprintf(buf, sizeof(buf), "?");
		(void)snprintf(out, outlen, "[%s]:%u", buf,
		    ntohs(s6->sin6_port));
	} else {
		if (inet_ntop(AF_INET, &s4->sin_addr, buf, sizeof(buf)) ==
		    NULL)
			(void)snprintf(buf, sizeof(buf), "?");
		(void)snprintf(out, outlen, "%s:%u", buf,
		    ntohs(s4->sin_port));
	}
}

/* One transport: UDP or TCP.  The raw answer in *wire (free()). */
static int
exchange(const struct ag_dns_addr *to, ldns_buffer *qb, int tcp, int timeout,
    uint8_t **wire, size_t *wire_len)
{
	struct timeval	 tv;
	ldns_status	 st;

	tv.tv_sec = timeout;
	tv.tv_usec = 0;
	*wire = NULL;
	*wire_len = 0;
	if (tcp)
		st = ldns_tcp_send(wire, qb, &to->ss, to->len, tv, wire_len);
	else
		st = ldns_udp_send(wire, qb, &to->ss, to->len, tv, wire_len);
	if (st != LDNS_STATUS_OK || *wire == NULL) {
		free(*wire);
		*wire = NULL;
		return st == LDNS_STATUS_NETWORK_ERR ||
		    st == LDNS_STATUS_SOCKET_ERROR ? ANVIL_EIO :
		    ANVIL_ETIMEDOUT;
	}
	return 0;
}

int
ag_dns_send(const struct ag_dns_addr *to, ldns_pkt *q, int tcp, int timeout,
    ldns_pkt **ret, uint8_t **wire, size_t *wire_len)
{
	ldns_buffer	*qb = NULL;
	ldns_pkt	*ans = NULL;
	uint8_t		*w = NULL;
	size_t		 wl = 0;
	int		 rc;

	*ret = NULL;
	rc = ag_ldns_open();
	if (rc != 0)
		return rc;
	qb = ldns_buffer_new(LDNS_MAX_PACKETLEN);
	if (qb == NULL)
		return ANVIL_ENOMEM;
	if (ldns_pkt2buffer_wire(qb, q) != LDNS_STATUS_OK) {
		rc = ANVIL_EINVAL;
		goto out;
	}
	rc = exchange(to, qb, tcp, timeout, &w, &wl);
	if (rc != 0)
		goto out;
	/* Truncated (TC bit, RFC 1035 §4.1.1): again over TCP. */
	if (!tcp && wl >= LDNS_HEADER_SIZE && LDNS_TC_WIRE(w)) {
		free(w);
		w = NULL;
		rc = exchange(to, qb, 1, timeout, &w, &wl);
		if (rc != 0)
			goto out;
	}
	if (ldns_wire2pkt(&ans, w, wl) != LDNS_STATUS_OK || ans == NULL ||
	    ldns_pkt_id(ans) != ldns_pkt_id(q) || !ldns_pkt_qr(ans)) {
		rc = ANVIL_EINVAL;
		goto out;
	}
	*ret = ans;
	ans = NULL;
	if (wire != NULL) {
		*wire = w;
		*wire_len = wl;
		w = NULL;
	}
	rc = 0;
out:
	ldns_pkt_free(ans);
	free(w);
	ldns_buffer_free(qb);
	return rc;
}

int
ag_dns_query(const struct ag_dns_addr *to, const char *name,
    ldns_rr_type type, int rd, int timeout, ldns_pkt **ret)
{
	ldns_pkt	*q = NULL;
	int		 rc;

	*ret = NULL;
	rc = ag_ldns_open();
	if (rc != 0)
		return rc;
	if (ldns_pkt_query_new_frm_str(&q, name, type, LDNS_RR_CLASS_IN,
	    rd ? LDNS_RD : 0) != LDNS_STATUS_OK)
		return ANVIL_EINVAL;
	ldns_pkt_set_random_id(q);
	rc = ag_dns_send(to, q, 0, timeout, ret, NULL, NULL);
	ldns_pkt_free(q);
	return rc;
}
