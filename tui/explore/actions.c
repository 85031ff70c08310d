/* actions.c: actions.def as a table of what each action is called and bound
 * to, for the keys and commands (commands.c), the help view and the prompt's
 * completion.  The functions are commands.c's table: this one calls nothing,
 * so the prompt and the help can read it without depending on the actions. */
#include "explore.h"

const action_t ACTIONS[ACT_COUNT] = {
#define X(id, fn, k1, k2, cmd, args, help) {#id, k1, k2, cmd, args, help},
#include "actions.def"
#undef X
};
