# Writes OUT (revision.h) with the source tree's `git describe --always
# --dirty`, at every build, but touches it only when the revision changed,
# so that a commit shows in the next build's context without a reconfigure
# and an unchanged tree rebuilds nothing.
set(revision "unknown")
if(GIT_EXECUTABLE)
  execute_process(COMMAND "${GIT_EXECUTABLE}" describe --always --dirty
                  WORKING_DIRECTORY "${SOURCE_DIR}"
                  OUTPUT_VARIABLE described OUTPUT_STRIP_TRAILING_WHITESPACE
                  ERROR_QUIET RESULT_VARIABLE rc)
  if(rc EQUAL 0 AND described)
    set(revision "${described}")
  endif()
endif()
set(text "#define IPCB_GIT_REVISION \"${revision}\"\n")
set(old "")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
