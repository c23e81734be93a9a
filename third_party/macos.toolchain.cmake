# Cross-building ipc_bench for macOS on Linux: clang and lld against a macOS
# SDK that is not part of this repository (see the darwin-cross presets).
#
#   IPCB_MACOS_SDK   the SDK root (usr/include, usr/lib/libSystem.tbd,
#                    System/Library/Frameworks); cache variable or environment
#   IPCB_MACOS_ARCH  arm64 (default) or x86_64; cache variable or environment
#   IPCB_LLVM_BIN    where clang, lld and llvm-ar live; default: found on PATH
#                    or in /usr/lib/llvm-<version>/bin
#
# The result links against libSystem and CoreFoundation but cannot run here.
# Google Benchmark's try_run checks cannot run either: the presets give their
# answers (RUN_HAVE_*).
cmake_minimum_required(VERSION 3.25)

set(CMAKE_SYSTEM_NAME Darwin)
set(CMAKE_SYSTEM_VERSION 21.0) # Darwin 21 is macOS 12, the deployment target

# try_compile projects re-read this file without our cache, so the settings
# travel through the environment and CMAKE_TRY_COMPILE_PLATFORM_VARIABLES.
foreach(var IN ITEMS IPCB_MACOS_SDK IPCB_MACOS_ARCH IPCB_LLVM_BIN)
  if(NOT DEFINED ${var} AND DEFINED ENV{${var}})
    set(${var} "$ENV{${var}}")
  endif()
endforeach()
if(NOT IPCB_MACOS_ARCH)
  set(IPCB_MACOS_ARCH arm64)
endif()
if(NOT IPCB_MACOS_ARCH MATCHES "^(arm64|x86_64)$")
  message(FATAL_ERROR "IPCB_MACOS_ARCH must be arm64 or x86_64, not '${IPCB_MACOS_ARCH}'")
endif()
if(NOT IPCB_MACOS_SDK OR NOT EXISTS "${IPCB_MACOS_SDK}/usr/include/mach/mach.h")
  message(FATAL_ERROR "IPCB_MACOS_SDK must name a macOS SDK root (with usr/include/mach/mach.h); "
                      "got '${IPCB_MACOS_SDK}'")
endif()
if(NOT IPCB_LLVM_BIN)
  file(GLOB llvm_dirs LIST_DIRECTORIES true /usr/lib/llvm-*/bin)
  list(SORT llvm_dirs COMPARE NATURAL ORDER DESCENDING)
  find_program(ipcb_lld NAMES ld64.lld PATHS ${llvm_dirs} NO_CACHE)
  if(NOT ipcb_lld)
    message(FATAL_ERROR "ld64.lld not found; set IPCB_LLVM_BIN to LLVM's bin directory")
  endif()
  get_filename_component(IPCB_LLVM_BIN "${ipcb_lld}" DIRECTORY)
endif()
set(ENV{IPCB_MACOS_SDK} "${IPCB_MACOS_SDK}")
set(ENV{IPCB_MACOS_ARCH} "${IPCB_MACOS_ARCH}")
set(ENV{IPCB_LLVM_BIN} "${IPCB_LLVM_BIN}")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES IPCB_MACOS_SDK IPCB_MACOS_ARCH IPCB_LLVM_BIN)

set(CMAKE_SYSTEM_PROCESSOR ${IPCB_MACOS_ARCH})
set(CMAKE_OSX_SYSROOT "${IPCB_MACOS_SDK}" CACHE PATH "macOS SDK root")
set(CMAKE_OSX_ARCHITECTURES ${IPCB_MACOS_ARCH} CACHE STRING "Target architecture")
set(CMAKE_OSX_DEPLOYMENT_TARGET 12.0 CACHE STRING "Oldest macOS that runs the result")

set(CMAKE_C_COMPILER "${IPCB_LLVM_BIN}/clang")
set(CMAKE_CXX_COMPILER "${IPCB_LLVM_BIN}/clang++")
set(CMAKE_C_COMPILER_TARGET ${IPCB_MACOS_ARCH}-apple-macos12)
set(CMAKE_CXX_COMPILER_TARGET ${IPCB_MACOS_ARCH}-apple-macos12)
set(CMAKE_AR "${IPCB_LLVM_BIN}/llvm-ar" CACHE FILEPATH "")
set(CMAKE_RANLIB "${IPCB_LLVM_BIN}/llvm-ranlib" CACHE FILEPATH "")
set(CMAKE_INSTALL_NAME_TOOL "${IPCB_LLVM_BIN}/llvm-install-name-tool" CACHE FILEPATH "")
set(CMAKE_LINKER "${IPCB_LLVM_BIN}/ld64.lld" CACHE FILEPATH "")

# Without libc++ the link looks for libstdc++, which the SDK does not have.
set(CMAKE_CXX_FLAGS_INIT "-stdlib=libc++")
# lld acts as ld64.lld for a Darwin target.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-fuse-ld=lld")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-fuse-ld=lld")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-fuse-ld=lld")

# Libraries, headers and packages come from the SDK only (never Debian's
# Google Benchmark); programs run on this machine.
set(CMAKE_FIND_ROOT_PATH "${IPCB_MACOS_SDK}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_FIND_FRAMEWORK LAST)
