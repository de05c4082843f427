import veritoken from './index.js'

export const { Verifier, VerifiedToken, VeritokenError, Requirement, ERROR_CODES, errorResponse, version } = veritoken
export default veritoken
