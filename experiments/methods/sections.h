/* sections.h: the config sections methods read, bound to the structs of
 * the modules that own them: [quant] (quant/qcfg.h, schema_quant.c),
 * [agent] and [dqmq] (agent/acfg.h, schema_agent.c), [ddq] (quant/qcfg.h,
 * schema_ddq.c), [metamix] (agent/metamix.h, schema_metamix.c), [blockrep]
 * (quant/blockrep.h, schema_blockrep.c). Their fields live in exp_config
 * (run/schema.h); the section table is experiments/cli/schema.c.
 *
 * Deliberately not here: the rules inside a section (the owning module's
 * q_cfg_check / agent_cfg_check), what the values do (the methods). */
#ifndef EXP_SECTIONS_H
#define EXP_SECTIONS_H

#include "experiments/config/config.h"

/* [quant] keys and checks (schema_quant.c) */
extern const cfg_key exp_quant_keys[];
int exp_quant_check(const void *section, qa_err *err);
/* [agent] and [dqmq] keys and checks (schema_agent.c) */
extern const cfg_key exp_agent_keys[], exp_dqmq_keys[];
int exp_agent_check(const void *section, qa_err *err);
int exp_dqmq_check(const void *section, qa_err *err);
/* [ddq] keys and checks (schema_ddq.c) */
extern const cfg_key exp_ddq_keys[];
int exp_ddq_check(const void *section, qa_err *err);
/* [metamix] keys and checks (schema_metamix.c) */
extern const cfg_key exp_metamix_keys[];
int exp_metamix_check(const void *section, qa_err *err);
/* [blockrep] keys (schema_blockrep.c) */
extern const cfg_key exp_blockrep_keys[];

#endif
