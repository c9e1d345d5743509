// A stub of the few Foundation declarations qlinear's Metal host glue uses, so clang on Linux can
// syntax- and type-check the Objective-C++ (tests/backends/metal/extra.cmake). Not Apple's header:
// it only declares what backend.hpp calls, with Apple's names and signatures.
#pragma once
#include <stddef.h>

typedef unsigned long NSUInteger;
typedef long NSInteger;
typedef signed char BOOL;
#define YES ((BOOL)1)
#define NO ((BOOL)0)
#define nil nullptr

__attribute__((objc_root_class))
@interface NSObject
+ (instancetype)new;
+ (instancetype)alloc;
- (instancetype)init;
@end

@interface NSString : NSObject
+ (instancetype)stringWithUTF8String:(const char*)bytes;
- (const char*)UTF8String;
@end

@interface NSError : NSObject
- (NSString*)localizedDescription;
@end
