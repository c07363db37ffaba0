// glibc's allocator controls (mallopt, malloc_trim), for App's Allocator.
#include <malloc.h>
