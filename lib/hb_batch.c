/* hb_batch — when hbpgload stores the batch it holds (see the header). */
#include "hb_batch.h"

int hb_batch_wait_ms(size_t rows, int64_t age_us)
{
	if (rows < HB_BATCH_GAP_MAX_ROWS && age_us >= HB_BATCH_GAP_AFTER_US)
		return 0;
	return HB_BATCH_IDLE_MS;
}
