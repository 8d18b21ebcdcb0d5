/*
 * hb_batch — when hbpgload stores the batch it holds: how long to wait for
 * more input before storing it.
 *
 * A pause in the input of HB_BATCH_IDLE_MS with rows in hand stores them
 * (not 0: a stream that comes in bursts, a consumer's fetches or a writer's
 * buffers, would store each burst's first lines alone).  Input that comes
 * every millisecond or so (1,000 readings/s through a consumer) has no such
 * pause, and its rows waited for --batch-ms: p99 43-49 ms at 1,000/s.  So a
 * small batch HB_BATCH_GAP_AFTER_US old is stored at the first gap, however
 * short (nothing there to read right now): p99 11 ms.  Not a large batch: a
 * backlog through a pipe has such gaps too, whenever the loader catches up
 * with its writer, and cutting its batches there cost 7 % at 10,000
 * customers.  --batch-ms and --batch-rows still cap a batch.
 */
#ifndef HB_BATCH_H
#define HB_BATCH_H

#include <stddef.h>
#include <stdint.h>

#define HB_BATCH_IDLE_MS 1
#define HB_BATCH_GAP_AFTER_US 5000
#define HB_BATCH_GAP_MAX_ROWS 2000

/*
 * With rows in hand (rows > 0), the first of them age_us old: how long to
 * wait for the next line, in ms; nothing by then stores the batch.
 */
int hb_batch_wait_ms(size_t rows, int64_t age_us);

#endif
