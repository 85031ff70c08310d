/* train_settings.h: `tlpx train`'s options, and what it shares with the
 * explorer's :train about a training's settings.  Both set the settings by
 * name through the engine's tlp_train_set (engine/train/settings.def), so
 * they take the same names, values and messages. */
#ifndef TLPX_TRAIN_SETTINGS_H
#define TLPX_TRAIN_SETTINGS_H

#include "opts.h"

/* The option table of `tlpx train`: --out, --recipe, a row for each
 * training setting (settings.def), then train's own options. */
extern const cli_opt CLI_TRAIN_OPTS[];

/* Training settings given as options (--lr 1e-3), kept in order to be set
 * after the recipe's. */
typedef struct {
    const char *keys[64], *vals[64];
    int n;
} cli_settings;
/* Keep option o's value; EXIT_USAGE after saying so when there are too many. */
int cli_settings_add(cli_settings *s, const cli_cmd *cmd, const cli_opt *o, const char *val);
/* Set them into o in order (tlp_train_set); EXIT_USAGE after the reason. */
int cli_settings_apply(const cli_settings *s, const cli_cmd *cmd, tlp_train_opts *o);

/* The networks of model m (an ensemble's each) and their encodings into o:
 * fine-tuning trains the model's networks, whatever the recipe's. */
void cli_train_nets_of(tlp_train_opts *o, const tlp_model *m);
/* The settings a saved training ran with (its meta), for mode m, into o:
 * what --resume goes on with. */
void cli_train_resumed(tlp_train_opts *o, tlp_mode m, const tlp_train_meta *meta);
/* The encodings of n networks as "log,prog" in buf (cap bytes); returns buf. */
const char *cli_encodes(const tlp_encode *e, int n, char *buf, size_t cap);

#endif
