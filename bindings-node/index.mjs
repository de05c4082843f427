import veritoken from './index.js'

export const { Verifier, VerifiedToken, VeritokenError, Requirement, ERROR_CODES, LOG_LEVELS, errorResponse, metricFamilies, setLogger, version } = veritoken
export default veritoken
