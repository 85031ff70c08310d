/* train_settings.h: the training settings by name, one parser shared by
 * `tlpx train` (its options) and the explorer's :train (its KEY=VALUE words),
 * so both take the same names, values and messages. */
#ifndef TLPX_TRAIN_SETTINGS_H
#define TLPX_TRAIN_SETTINGS_H

#include "opts.h"

/* The option table of `tlpx train`: its rows name the settings cli_train_set
 * takes (:train's completion lists them from here), beside train's own
 * options (--out, --mode, --resume). */
extern const cli_opt CLI_TRAIN_OPTS[];

/* Set one training setting by name (epochs, batch, seed, lr, loss, pairs,
 * group, split, val, encode, select, sched, failed, average, heads, threads; recipe
 * resets the others to that recipe's).  The same names as `tlpx train`'s
 * options and `:train`'s key=value words.  Returns 0, or -1 with why filled. */
int cli_train_set(tlp_train_opts *o, const char *key, const char *val, char *why, size_t cap);
/* The i-th name cli_train_set takes (from CLI_TRAIN_OPTS), NULL past the
 * last: for completion. */
const char *cli_train_setting(int i);
/* The networks of model m (an ensemble's each) and their encodings into o:
 * fine-tuning trains the model's networks, whatever the recipe's. */
void cli_train_nets_of(tlp_train_opts *o, const tlp_model *m);
/* The settings a saved training ran with (its meta), for mode m, into o:
 * what --resume goes on with. */
void cli_train_resumed(tlp_train_opts *o, tlp_mode m, const tlp_train_meta *meta);
/* The encodings of n networks as "log,prog" in buf (cap bytes); returns buf. */
const char *cli_encodes(const tlp_encode *e, int n, char *buf, size_t cap);

#endif
