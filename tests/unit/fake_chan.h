/* SPDX-License-Identifier: MIT */
/*
 * fake_chan.h - a transport for unit tests: send() records the reply it was
 * given instead of writing it anywhere, and counts it in the stats as a
 * real transport does. Include after internal.h.
 */
#ifndef FURI_TEST_FAKE_CHAN_H
#define FURI_TEST_FAKE_CHAN_H

static struct furi_chan_stats stats;

/* The last reply sent; n counts sends since the test last cleared it. */
static struct {
	int n;
	int error;
	size_t args_len;
	const void *extra;
	size_t extra_len;
	bool no_reply;
	uint64_t unique;
} sent;

static void fake_send(struct furi_req *req, int error, size_t args_len,
		      const void *extra, size_t extra_len)
{
	sent.n++;
	sent.error = error;
	sent.args_len = args_len;
	sent.extra = extra;
	sent.extra_len = extra_len;
	sent.no_reply = req->no_reply;
	sent.unique = req->unique;
	furi_stats_replied(req->chan, req->opcode, req->t_start, error, args_len + extra_len);
}

static const struct furi_chan_ops fake_chan_ops = { .send = fake_send };
static struct furi_chan chan = { .ops = &fake_chan_ops, .stats = &stats };

#endif /* FURI_TEST_FAKE_CHAN_H */
