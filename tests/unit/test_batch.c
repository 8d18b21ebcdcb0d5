/* test_batch — hb_batch_wait_ms: a pause of 1 ms stores a batch; a small batch 5 ms old, any gap. */
#include <stdint.h>

#include "hb_batch.h"
#include "tap.h"

int main(void)
{
	tap_begin("hb_batch: a young batch waits for a 1 ms pause");
	check_int(hb_batch_wait_ms(1, 0), ==, 1);
	check_int(hb_batch_wait_ms(1, HB_BATCH_GAP_AFTER_US - 1), ==, 1);
	tap_end();

	tap_begin("hb_batch: a small batch 5 ms old is stored at any gap");
	check_int(hb_batch_wait_ms(1, HB_BATCH_GAP_AFTER_US), ==, 0);
	check_int(hb_batch_wait_ms(HB_BATCH_GAP_MAX_ROWS - 1, 50000), ==, 0);
	tap_end();

	tap_begin("hb_batch: a large batch (a backlog) still waits for a 1 ms pause");
	check_int(hb_batch_wait_ms(HB_BATCH_GAP_MAX_ROWS, HB_BATCH_GAP_AFTER_US), ==, 1);
	check_int(hb_batch_wait_ms(50000, 40000), ==, 1);
	tap_end();
	return tap_done();
}
