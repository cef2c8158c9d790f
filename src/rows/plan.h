/* plan.h: what rows.c and plan.c share about a row plan. */
#ifndef BF_ROWS_PLAN_H
#define BF_ROWS_PLAN_H

#include "rows.h"

/* JSON lines: one slot per distinct wanted key (row_plan.keys -> index). */
typedef struct key_slot {
	int input;    /* model input index or -1 (more through row_plan.next_input) */
	int include;  /* include index or -1 (a key can only be included once) */
	int text;     /* text field index or -1 */
	int is_id;
} key_slot;

#endif
