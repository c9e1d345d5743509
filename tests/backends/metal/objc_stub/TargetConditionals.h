// Stub for the Linux syntax check of the Metal host glue (gtest-port.h includes it on __APPLE__).
#pragma once
#define TARGET_OS_IPHONE 0
#define TARGET_OS_OSX 1
