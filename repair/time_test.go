package repair

import "time"

type timeT = time.Time

func timeOf(year int) time.Time { return time.Date(year, 1, 2, 3, 4, 5, 0, time.UTC) }
